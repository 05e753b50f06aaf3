// The reference TCP gateway (`chunkwatch proxy`) — being written.
