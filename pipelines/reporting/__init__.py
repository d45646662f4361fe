"""Library behind the `report`, `check`, `metrics` and `views` commands.

The report, check and metrics modules read the SQL views in `sql/` over a short read-only
connection (`database.open_database`) and return plain data, which the commands render.
`database.create_views` applies the views over a read-write connection.
"""
