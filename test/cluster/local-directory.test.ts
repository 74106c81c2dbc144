import { LocalDirectory } from '../../server/cluster/local-directory.ts';
import { describeDirectory } from './directory.case.ts';

// One node's directory in memory: every handle is the same object, as on a single node.
describeDirectory('LocalDirectory', async (n) => {
  const d = new LocalDirectory();
  return Array.from({ length: n }, () => d);
});
