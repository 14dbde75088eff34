import { Module } from '@nestjs/common';
import { InternalController } from './internal.controller';
import { InternalTokenGuard } from './internal-token.guard';

@Module({ controllers: [InternalController], providers: [InternalTokenGuard] })
export class InternalModule {}
