"""The picture of a case's neighbourhood on its page: laid out, labelled and drawn as SVG.

``layout`` places the circles with networkx's spring layout (the case pinned at the centre, a
fixed seed, so the same neighbourhood always gives the same picture); ``labels`` places short
labels where they collide with nothing (a label with no free place is left out; every node and
line keeps a tooltip with its full text); ``svg`` draws circles coloured by kind, relationships
as lines, the labels and a legend of the kinds shown. The neighbourhood itself is read by
``service.graph.neighbourhood``.
"""
