"""The DMN commands of the command line (the importer, exporter and TCK runner are in
``service.engine.dmn``)."""
