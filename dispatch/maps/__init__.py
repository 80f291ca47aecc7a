"""Maps from the force's own files: raster tiles (tiles.py) and names for places
(gazetteer.py, naming.py), served by router.py and imported by commands.py."""
