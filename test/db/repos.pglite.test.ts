import { describeRepos } from './repos.case.ts';

describeRepos('pglite');
