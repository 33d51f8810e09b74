// Package bus is ofp's Kafka plumbing: it builds franz-go clients from
// configuration, starts the embedded Kafka-protocol cluster (kfake) that
// `ofp demo` and the tests use, creates topics, and publishes envelopes.
//
// It never interprets payloads: producers and consumers own their events
// (see package events). The embedded cluster and a real Kafka or Redpanda
// cluster are reached through exactly the same client code.
package bus
