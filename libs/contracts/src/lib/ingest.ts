/** The api's answers on the ingest endpoints. */
export type IngestStatus = 'accepted' | 'duplicate';

export interface FieldError {
  field: string;
  reason: string;
}

/** The JSON body of every 4xx/5xx answer. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  errors?: FieldError[];
}

export interface IngestAck {
  event_id: string;
  status: IngestStatus;
}

/** One item of a batch answer; `index` is the item's position in the request. */
export type BatchItemResult =
  | { index: number; event_id: string; status: IngestStatus }
  | { index: number; event_id?: string; status: 'invalid'; errors: FieldError[] }
  | { index: number; event_id: string; status: 'unavailable'; reason: string };

export interface BatchAck {
  /** True when any item was not stored (invalid or unavailable): look at `items`. */
  errors: boolean;
  accepted: number;
  duplicate: number;
  invalid: number;
  unavailable: number;
  items: BatchItemResult[];
}
