import { defineSafeAccessSuite } from './safeAccess.suite.ts';

defineSafeAccessSuite('postgres');
