"""bigWig / bigBed (BBI) readers and writers."""
