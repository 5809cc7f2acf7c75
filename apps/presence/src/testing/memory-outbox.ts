import type { PresenceNotice, WebhookEnvelope } from '@roomcast/contracts';
import { PresenceOutbox } from '../broker/outbox';

/** In memory, for tests: what was announced, in order. */
export class MemoryPresenceOutbox extends PresenceOutbox {
  readonly notices: PresenceNotice[] = [];

  readonly hooks: WebhookEnvelope[] = [];

  async announce(notice: PresenceNotice): Promise<void> {
    this.notices.push(notice);
  }

  async webhooks(envelopes: WebhookEnvelope[]): Promise<void> {
    this.hooks.push(...envelopes);
  }
}
