"""Django database routing from the shardroute catalog (see README.md).

settings.DATABASE_ROUTERS = ["shardroute_django.router.ShardrouteRouter"]
settings.MIDDLEWARE += ["shardroute_django.middleware.ReadYourWritesMiddleware"]
"""
