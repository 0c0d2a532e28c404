import { defineBadInputSuite } from './badInput.suite.ts';

defineBadInputSuite('postgres');
