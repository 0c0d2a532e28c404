import { defineSafeFlowSuite } from './safeFlow.suite.ts';

defineSafeFlowSuite('postgres');
