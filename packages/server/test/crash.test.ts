import { defineCrashSuite } from './crash.suite.ts';

defineCrashSuite('sqlite');
