"""meshfed: Istio mesh-federation resources from MeshFederation documents and Helm-style values.

Importing the package changes nothing in the importing process: the command line's start-up
shortcuts are applied by its entry point alone (`meshfed.startup`).
"""
