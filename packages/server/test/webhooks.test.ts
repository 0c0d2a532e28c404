import { defineWebhooksSuite } from './webhooks.suite.ts';

defineWebhooksSuite('sqlite');
