"""Maps of the 14 districts: boundaries projected to British National Grid once, shaded as an accessible SVG.

Shared by every feature that draws a map (the analyst report, the public results, the pack): the
boundaries (boundaries.py), the colour scheme and its classes (shading.py) and the SVG with its
legend and table (choropleth.py). Templates call it through the `district_map` macro in
templates/maps/_map.html. It imports no feature.
"""

from talking.maps.boundaries import ATTRIBUTION, outlines
from talking.maps.choropleth import DistrictMap, LegendEntry, MapRow, district_map

__all__ = ["ATTRIBUTION", "DistrictMap", "LegendEntry", "MapRow", "district_map", "outlines"]
