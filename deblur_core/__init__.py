"""Deblur Studio's library: load images, blur them on purpose, restore them, measure the result.

Images inside the library are always float32 RGB arrays of shape H x W x 3 with values in [0, 1].
This package never imports streamlit; the web app, the command line and the tests all call it.
"""

__version__ = "0.1.0"
