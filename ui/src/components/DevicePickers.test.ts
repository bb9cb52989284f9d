import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, waitFor } from '@testing-library/svelte';
import DevicePickers from './DevicePickers.svelte';
import type { AudioDeviceList, AudioDevices } from '../lib/types';

afterEach(() => cleanup());

const devices: AudioDeviceList = {
  inputs: [{ id: 'default', name: 'Default', is_default: true }],
  outputs: [
    { id: 'default', name: 'Default', is_default: true },
    { id: 'usb', name: 'USB Headset', is_default: false },
  ],
};

describe('device pickers', () => {
  it('lists the devices, marks the default and saves a ringer choice', async () => {
    const save = vi.fn(async (d: AudioDevices) => d);
    const { getByLabelText } = render(DevicePickers, { list: async () => devices, load: async () => ({}), save });
    const ringer = getByLabelText('Ringer') as HTMLSelectElement;
    await waitFor(() => expect(ringer.disabled).toBe(false));
    const names = Array.from(ringer.options).map((o) => o.textContent);
    expect(names).toEqual(['System default', 'Default (default)', 'USB Headset']);
    expect((getByLabelText('Microphone') as HTMLSelectElement).options.length).toBe(2);
    await fireEvent.change(ringer, { target: { value: 'usb' } });
    expect(save).toHaveBeenCalledWith({ ringer: 'usb' });
  });

  it('keeps showing a chosen device that is unplugged', async () => {
    const { getByLabelText } = render(DevicePickers, {
      list: async () => devices,
      load: async () => ({ speaker: 'bt-speaker' }),
      save: async (d: AudioDevices) => d,
    });
    const speaker = getByLabelText('Speaker') as HTMLSelectElement;
    await waitFor(() => expect(speaker.disabled).toBe(false));
    expect(speaker.value).toBe('bt-speaker');
    expect(speaker.selectedOptions[0].textContent).toContain('not connected');
  });
});
