/* libmiband: everything public in one include. */
#ifndef MIBAND_MIBAND_H
#define MIBAND_MIBAND_H
#include "miband/config.h"
#include "miband/error.h"
#include "miband/types.h"
#include "miband/address.h"
#include "miband/codec.h"
#include "miband/crypto.h"
#include "miband/session.h"
#include "miband/band.h"
#include "miband/link.h"
#include "miband/util.h"
#define MIBAND_VERSION "0.1.0"
#endif
