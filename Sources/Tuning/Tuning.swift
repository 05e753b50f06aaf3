// chunkwatch tune — being written (issue 6).
