"""Writes a calibration side file for a 4-input layer: H = I (f64 4x4),
then two activation rows (f32 2x4), as squeeze-calibrate lays them out."""
import struct
import sys

h = [1.0 if i == j else 0.0 for i in range(4) for j in range(4)]
x = [1.0, -1.0, 0.5, 2.0, -0.5, 1.5, 1.0, -1.0]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<16d", *h))
    f.write(struct.pack("<8f", *x))
