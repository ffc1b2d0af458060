"""Reading and checking what people write: sources and their limits, YAML, values layers and
their merge, the option table, the schemas, MeshFederation and Federation documents, the model
and its checks. Imports nothing above it."""
