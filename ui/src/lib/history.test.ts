import { describe, expect, it } from 'vitest';
import { filterHistory } from './history';
import type { HistoryEntry } from './types';

const entry = (id: number, remote_uri: string, remote_display_name: string | null = null): HistoryEntry =>
  ({
    id,
    direction: 'incoming',
    account: 'sip:alice@example.com',
    remote_uri,
    remote_display_name,
    started_at_ms: 0,
    answered_at_ms: null,
    ended_at_ms: 0,
    outcome: 'answered',
  }) as HistoryEntry;

const rows = [
  entry(1, 'sip:bob@example.com', 'Bob Builder'),
  entry(2, 'sip:+4930123456@example.com'),
  entry(3, 'tel:+1-555-0100', 'Acme Support'),
];
const ids = (text: string) => filterHistory(rows, text).map((e) => e.id);

describe('finding a call in the history', () => {
  it('finds by name or address in any case', () => {
    expect(ids('bob')).toEqual([1]);
    expect(ids('ACME')).toEqual([3]);
    expect(ids('example.com')).toEqual([1, 2]);
  });

  it('finds a number however it is written', () => {
    expect(ids('030 123')).toEqual([]);
    expect(ids('30 123')).toEqual([2]);
    expect(ids('555-0100')).toEqual([3]);
    expect(ids('5550100')).toEqual([3]);
    expect(ids('(555) 0100')).toEqual([3]);
  });

  it('shows everything for blank text and nothing for a miss', () => {
    expect(ids('  ')).toEqual([1, 2, 3]);
    expect(ids('carol')).toEqual([]);
  });
});
