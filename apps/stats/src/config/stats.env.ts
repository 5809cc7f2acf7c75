import { CommonEnv } from '@roomcast/config';

export class StatsEnv extends CommonEnv {
  override PORT: number = 3000;
}
