import { describe, expect, it } from 'vitest';
import { chatErrorText, formatDuration } from './chat-errors.ts';
import { chatSocketUrl } from './chat-protocol.ts';

describe('chat words', () => {
  it('formats waits the way people read them', () => {
    expect(formatDuration(999)).toBe('1 s');
    expect(formatDuration(2_001)).toBe('3 s');
    expect(formatDuration(600_000)).toBe('10 min');
    expect(formatDuration(545_000)).toBe('9 min 5 s');
    expect(formatDuration(2 * 3600_000 + 180_000)).toBe('2 h 3 min');
    expect(formatDuration(7 * 86400_000)).toBe('7 days');
  });

  it('says what happened and what to do, with the countdown when there is one', () => {
    expect(chatErrorText('RATE_LIMITED', 2_500)).toBe('Slow down — you can send again in 3 s.');
    expect(chatErrorText('TIMED_OUT', 600_000)).toBe('You are timed out — you can chat again in 10 min.');
    expect(chatErrorText('SLOW_MODE', 0)).toBe('Slow mode is on — wait a little between messages.');
    expect(chatErrorText('MALFORMED_FRAME')).toMatch(/Reload the page/);
    expect(chatErrorText('TOKEN_EXPIRED')).toBe('Your login expired. Log in again to chat.');
  });

  it('puts the chat socket on ws: or wss: like the page', () => {
    expect(chatSocketUrl('http://localhost:8080', 'a b')).toBe('ws://localhost:8080/streams/a%20b/chat');
    expect(chatSocketUrl('https://glint.example', 'x')).toBe('wss://glint.example/streams/x/chat');
  });
});
