import { describeAccountFlow } from './account-flow.case.ts';

describeAccountFlow('pglite');
