import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorBody, FieldError } from '@md/contracts';

/**
 * The error body every route of the api answers with (HttpErrorFilter writes it), for Swagger;
 * the contracts lib holds the types. One declaration, so each feature's docs describe it alike.
 */
export class FieldErrorDto implements FieldError {
  @ApiProperty({ example: 'price' })
  field: string;

  @ApiProperty({ example: 'price must be greater than 0' })
  reason: string;
}

export class ErrorBodyDto implements ErrorBody {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiProperty({ example: 'validation failed' })
  message: string;

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldError[];
}
