import { ApiProperty } from '@nestjs/swagger';

export class StreamTokenDto {
  @ApiProperty({ description: 'Pass as ?token= to /stream or /ws' })
  token: string;

  @ApiProperty({ description: 'Epoch ms after which a new stream is refused with this token' })
  expiresAt: number;
}
