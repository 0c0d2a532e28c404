import { defineAuthzSuite } from './authz.suite.ts';

defineAuthzSuite('sqlite');
