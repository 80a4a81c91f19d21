"""The package's one compiled module, the media engine's per-packet hot path (an epoll
RTP relay; Linux, the CPython C API only). Everything else about the package is in
pyproject.toml; setuptools' ``ext-modules`` table there is still experimental, so the
extension is declared here."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "callcenter.media._fastpath",
            sources=["src/callcenter/media/_fastpath.c"],
            # No compiler: the package installs anyway and the engine runs its Python path
            # (the test suite insists the module is built where the tests run).
            optional=True,
            extra_compile_args=[
                "-O2",
                "-std=gnu11",
                "-Wall",
                "-Wextra",
                "-Wno-missing-field-initializers",
                "-Wno-unused-parameter",
            ],
        )
    ]
)
