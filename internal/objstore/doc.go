// Package objstore is ofp's object-storage plumbing: a small S3 client
// built on minio-go (the same code path for AWS S3, MinIO, Ceph, versitygw
// and the embedded server) and the embedded S3 server over a local folder
// that `ofp demo` and the tests use.
//
// It stores and lists bytes under keys; it never knows what a dataset is.
package objstore
