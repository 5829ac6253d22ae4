"""Shared warehouse services (Hive metastore + Spark Thrift Server) and SQL access."""
