import { defineConcurrencySuite } from './concurrency.suite.ts';

defineConcurrencySuite('sqlite');
