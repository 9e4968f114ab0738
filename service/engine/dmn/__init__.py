"""DMN models (decision requirements and decision tables in DMN 1.2 to 1.5 XML) in and out.

``xmlsafe`` reads the XML with a hardened parser; ``model`` reads a DMN model from it;
``convert`` writes a model as a Casewise rule file (``expressions: feel``), which is also
how a ``.dmn`` file in the rules folder is loaded (with ``converter``, ``tables`` and
``imported``); ``export`` writes a rule file back as
DMN; ``tck`` runs the DMN TCK's test cases.
"""
