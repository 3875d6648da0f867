"""Use-cases: one function per thing a user does, taking a :class:`~repository.home.Repository` and returning
typed values. The command line (``repository.cli``) and the web application (``repository.web``) call these and
nothing below them."""
