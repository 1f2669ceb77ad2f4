"""One SQL layer for every SQL store: schema and migrations, the dialect seam, the queries."""
