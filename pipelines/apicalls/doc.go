// Package apicalls is the pipeline of the API-call record: it turns the
// events.APICall envelopes of topic ofp.apicalls (one per regulated call,
// PCM-shaped, produced by ingest/apicalls) into Arrow record batches of the
// api_calls dataset, which pipelines.Runner writes to the lake as Parquet
// and loads into the warehouse like every other dataset.
//
// A record that is not a decodable api-call envelope is never dropped: it
// becomes a row of api_calls_rejected with the reason and the raw value.
//
// It never serves HTTP and never decides what the calls mean (the metrics,
// reimbursement and regulator reports are warehouse models over api_calls).
package apicalls
