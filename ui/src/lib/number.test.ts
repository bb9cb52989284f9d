import { describe, expect, it } from 'vitest';
import { dtmfKeyFor, keyName, normalizeDialString } from './number';

describe('normalizeDialString', () => {
  it('strips the decoration from phone numbers', () => {
    expect(normalizeDialString('+1 (555) 123-4567')).toBe('+15551234567');
    expect(normalizeDialString('020 7946.0018')).toBe('02079460018');
    expect(normalizeDialString('  555–0100 ')).toBe('5550100'); // en dash
    expect(normalizeDialString('555\u00a00100')).toBe('5550100'); // no-break space
  });

  it('keeps star, hash and only a leading plus', () => {
    expect(normalizeDialString('*72 #')).toBe('*72#');
    expect(normalizeDialString('+44 20 7946 0018')).toBe('+442079460018');
    // A plus anywhere but the front is not a phone number: left for the engine to judge.
    expect(normalizeDialString('12+34')).toBe('12+34');
  });

  it('drops a tel: prefix and invisible marks from copied numbers', () => {
    expect(normalizeDialString('tel:+49 30 1234')).toBe('+49301234');
    expect(normalizeDialString('\u202a+1 555 0100\u202c')).toBe('+15550100');
  });

  it('leaves SIP addresses and names alone apart from trimming', () => {
    expect(normalizeDialString(' sip:bob@127.0.0.1:5070 ')).toBe('sip:bob@127.0.0.1:5070');
    expect(normalizeDialString('<sip:alice@example.com;transport=tcp>')).toBe('sip:alice@example.com;transport=tcp');
    expect(normalizeDialString('bob@example.com')).toBe('bob@example.com');
    expect(normalizeDialString('reception')).toBe('reception');
  });

  it('returns an empty string for blank input', () => {
    expect(normalizeDialString('   ')).toBe('');
    expect(normalizeDialString('( ) -')).toBe('');
  });
});

describe('keyName', () => {
  it('names the symbol keys for test ids', () => {
    expect(keyName('*')).toBe('star');
    expect(keyName('#')).toBe('hash');
    expect(keyName('7')).toBe('7');
  });
});

describe('dtmfKeyFor', () => {
  it('digits, star and hash outside text fields are tones', () => {
    expect(dtmfKeyFor('5', 'BODY')).toBe('5');
    expect(dtmfKeyFor('#', 'BUTTON')).toBe('#');
    expect(dtmfKeyFor('*', undefined)).toBe('*');
  });
  it('typing in a field, other keys and shortcuts are not', () => {
    expect(dtmfKeyFor('5', 'INPUT')).toBeNull();
    expect(dtmfKeyFor('5', 'textarea')).toBeNull();
    expect(dtmfKeyFor('a', 'BODY')).toBeNull();
    expect(dtmfKeyFor('Enter', 'BODY')).toBeNull();
    expect(dtmfKeyFor('1', 'BODY', true)).toBeNull();
  });
});
