import { describeRecordingsRepo } from './recordings-repo.case.ts';

describeRecordingsRepo('postgres');
