"""One translator per upstream wire protocol, plus the HTTP transport they share.

Adding a provider means one new module with a ``Translator`` and a line in
``providers.registry``; nothing else in the gateway changes.
"""
