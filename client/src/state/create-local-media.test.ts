import { describe, expect, it } from 'vitest';
import { createLocalMedia } from './create-local-media.ts';
import { createFakeDevices } from './media-testing.ts';

describe('local media', () => {
  it('opens the default camera and microphone and lists the devices with labels', async () => {
    const devices = createFakeDevices();
    const local = createLocalMedia({ mediaDevices: devices });
    await local.start();
    expect(devices.calls).toHaveLength(1);
    expect(local.videoTrack.value?.kind).toBe('video');
    expect(local.audioTrack.value?.kind).toBe('audio');
    expect(local.cameras.value).toEqual([
      { id: 'cam1', label: 'Front camera' },
      { id: 'cam2', label: 'Camera 2' },
    ]);
    expect(local.microphones.value).toEqual([{ id: 'mic1', label: 'Built-in microphone' }]);
    expect(local.cameraId.value).toBe('cam1');
    expect(local.microphoneId.value).toBe('mic1');
  });

  it('says so when camera access is refused', async () => {
    const local = createLocalMedia({ mediaDevices: createFakeDevices({ denied: true }) });
    await local.start();
    expect(local.error.value).toMatch(/refused/);
    expect(local.videoTrack.value).toBeNull();
    expect(local.busy.value).toBe(false);
  });

  it('explains that there are no cameras outside a secure context', async () => {
    const local = createLocalMedia({ mediaDevices: null });
    await local.start();
    expect(local.error.value).toMatch(/HTTPS/);
  });

  it('hands a new track to the sink before stopping the old one', async () => {
    const local = createLocalMedia({ mediaDevices: createFakeDevices() });
    await local.start();
    const old = local.videoTrack.value!;
    const seen: string[] = [];
    local.setSink(async (kind, track) => {
      seen.push(`${kind} ${track?.getSettings().deviceId} old=${old.readyState}`);
    });
    await local.selectCamera('cam2');
    expect(seen).toEqual(['video cam2 old=live']);
    expect(old.readyState).toBe('ended');
  });

  it('keeps the chosen camera for later while the screen is shared', async () => {
    const devices = createFakeDevices();
    devices.screenAudio = false;
    const local = createLocalMedia({ mediaDevices: devices });
    await local.start();
    const mic = local.audioTrack.value;
    await local.shareScreen();
    expect(local.audioTrack.value).toBe(mic); // no screen audio: the microphone stays
    await local.selectCamera('cam2');
    expect(local.videoTrack.value?.getSettings().deviceId).toBe('screen');
    await local.useCamera();
    expect(local.videoTrack.value?.getSettings().deviceId).toBe('cam2');
  });

  it('stops every track it opened when closed', async () => {
    const devices = createFakeDevices();
    const local = createLocalMedia({ mediaDevices: devices });
    await local.start();
    local.close();
    expect(devices.handedOut.every((t) => t.readyState === 'ended')).toBe(true);
    expect(local.videoTrack.value).toBeNull();
  });
});
