"""FEEL, the expression language of DMN: a lark grammar, its tree, and closures with its meaning.

``parser`` reads text into ``Node`` trees; ``evaluate`` compiles a tree into a closure over
one environment; ``builtins`` holds the operators and functions; ``printer`` writes a tree
back as text (with names renamed, as the DMN importer needs).
"""
