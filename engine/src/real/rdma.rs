//! RDMA transport (feature `rdma`, Linux): written below.
