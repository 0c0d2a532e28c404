import { defineSafeAccessSuite } from './safeAccess.suite.ts';

defineSafeAccessSuite('sqlite');
