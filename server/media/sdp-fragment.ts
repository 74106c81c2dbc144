/**
 * Trickle ICE SDP fragments (RFC 8840 `application/trickle-ice-sdpfrag`): ICE credentials
 * and the candidates of each m-section, found by its a=mid.
 */
export type FragmentResult =
  | { ok: true; iceUfrag?: string; icePwd?: string; candidates: Array<{ candidate: string; mid: string }>; endOfCandidates: boolean }
  | { ok: false; reason: string };

export function parseSdpFragment(text: string): FragmentResult {
  if (text.length > 16 * 1024) return { ok: false, reason: 'the fragment is larger than 16 KiB' };
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  let mid: string | undefined;
  let iceUfrag: string | undefined;
  let icePwd: string | undefined;
  let endOfCandidates = false;
  const pending: string[] = [];
  const candidates: Array<{ candidate: string; mid: string }> = [];
  const flush = () => {
    for (const c of pending.splice(0)) candidates.push({ candidate: c, mid: mid ?? '0' });
  };
  for (const line of lines) {
    if (line.length < 2 || line[1] !== '=') return { ok: false, reason: `malformed line "${line.slice(0, 60)}"` };
    if (line.startsWith('m=')) {
      flush();
      mid = undefined;
    } else if (line.startsWith('a=mid:')) {
      mid = line.slice(6);
      flush();
    } else if (line.startsWith('a=ice-ufrag:')) {
      iceUfrag = line.slice(12);
    } else if (line.startsWith('a=ice-pwd:')) {
      icePwd = line.slice(10);
    } else if (line.startsWith('a=candidate:')) {
      const c = line.slice(2);
      if (!/^candidate:\S+ \d+ (udp|tcp) \d+ \S+ \d+ typ \S+/i.test(c)) return { ok: false, reason: `malformed candidate "${c.slice(0, 80)}"` };
      pending.push(c);
    } else if (line === 'a=end-of-candidates') {
      endOfCandidates = true;
    }
  }
  flush();
  return { ok: true, ...(iceUfrag !== undefined ? { iceUfrag } : {}), ...(icePwd !== undefined ? { icePwd } : {}), candidates, endOfCandidates };
}
