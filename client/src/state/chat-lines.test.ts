import { describe, expect, it } from 'vitest';
import { BOB, chatMessage } from './chat-testing.ts';
import { addNotice, capLines, mergeWelcome, messageLine, prependPage, type ChatLine, type LineState } from './chat-lines.ts';

const ids = (lines: ChatLine[]) => lines.map((l) => (l.kind === 'message' ? l.message.id : l.text));
const msgs = (...list: number[]) => list.map((id) => chatMessage(id, BOB, `m${id}`));
const full = (from: number) => msgs(...Array.from({ length: 50 }, (_, i) => from + i));

describe('chat lines', () => {
  it('takes the first welcome as the history, with a cursor only when it is full', () => {
    expect(mergeWelcome({ lines: [], cursor: null }, msgs(1, 2))).toEqual({ lines: msgs(1, 2).map(messageLine), cursor: null });
    expect(mergeWelcome({ lines: [], cursor: null }, full(10)).cursor).toBe(10);
  });

  it('keeps older lines after a reconnect only when the new history overlaps them', () => {
    const before: LineState = { lines: msgs(5, 6, 7, 8).map(messageLine), cursor: 5 };
    const overlapping = mergeWelcome(before, msgs(7, 8, 9));
    expect(ids(overlapping.lines)).toEqual([5, 6, 7, 8, 9]);
    expect(overlapping.cursor).toBe(5);

    // Missed more than the history holds: start again from it (no silent gap).
    const gap = mergeWelcome(before, full(100));
    expect(ids(gap.lines)[0]).toBe(100);
    expect(gap.cursor).toBe(100);

    // Everything was deleted meanwhile.
    expect(mergeWelcome(before, [])).toEqual({ lines: [], cursor: null });
  });

  it('prepends an older page without repeating what is shown', () => {
    const state: LineState = { lines: msgs(10, 11).map(messageLine), cursor: 10 };
    const next = prependPage(state, msgs(8, 9, 10), null);
    expect(ids(next.lines)).toEqual([8, 9, 10, 11]);
    expect(next.cursor).toBeNull();
  });

  it('drops the oldest lines beyond the cap and moves the cursor to the oldest message left', () => {
    const state: LineState = { lines: msgs(1, 2, 3, 4).map(messageLine), cursor: null };
    expect(capLines(state, 2)).toEqual({ lines: msgs(3, 4).map(messageLine), cursor: 3 });
    expect(capLines(state, 4)).toBe(state);
    const notices: LineState = { lines: addNotice(addNotice(msgs(1, 2).map(messageLine), 'a', 'A', 'info'), 'b', 'B', 'info'), cursor: null };
    expect(capLines(notices, 2)).toEqual({ lines: notices.lines.slice(2), cursor: 3 });
  });
});
