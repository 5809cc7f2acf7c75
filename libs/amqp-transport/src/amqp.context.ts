import { BaseRpcContext } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';

type AmqpTopicContextArgs = [ConsumeMessage, Channel, string];

export class AmqpTopicContext extends BaseRpcContext<AmqpTopicContextArgs> {
  getMessage(): ConsumeMessage {
    return this.args[0];
  }
  getChannel(): Channel {
    return this.args[1];
  }
  getRoutingKey(): string {
    return this.args[2];
  }
}
