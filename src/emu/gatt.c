/*
 * GATT tables of the emulated bands (PROTOCOL.md 1).
 *
 * Mi Band 2 uses the real handle map captured from a band running firmware
 * 1.0.1.81 (PROTOCOL.md 1.2: Mi Fit's full discovery in a btsnoop, matching
 * two other independent dumps).  Handles differ between firmware builds,
 * so clients must discover by UUID anyway; the table lets a GATT server
 * that can pin handles reproduce that band exactly.
 *
 * No source gives the handles of a Mi Band 3 (PROTOCOL.md 8, open point 1),
 * so its table lists the services and characteristics of the nRF Connect
 * export (PROTOCOL.md 1.1) with every handle 0: the GATT stack chooses, and
 * adds a CCCD to every characteristic that notifies or indicates.  Mi Band
 * 4 and later (v1 protocol firmware) use the Mi Band 3 layout: nothing in
 * the sources shows a difference that matters to the v1 protocol.
 *
 * Properties are the ATT bits (MIBAND_PROP_*) as each band reports them.
 */
#include "miband/band.h"

#define R MIBAND_PROP_READ
#define WNR MIBAND_PROP_WRITE_NR
#define W MIBAND_PROP_WRITE
#define N MIBAND_PROP_NOTIFY
#define I MIBAND_PROP_INDICATE

/* One attribute per line, as in the captured map: not reformatted. */
/* clang-format off */
/* value, declaration, cccd handles; service; uuid; huami base; props; ch */
#define SIG(v, d, c, svc, u, p, ch) { v, d, c, svc, u, false, p, ch }
#define HUA(v, d, c, svc, u, p, ch) { v, d, c, svc, u, true, p, ch }

static const struct miband_gatt_service mb2_services[] = {
	{ 0x1800, 0x0001, 0x0007 }, { 0x1801, 0x0008, 0x000b },
	{ 0x180a, 0x000c, 0x0016 }, { 0x1530, 0x0017, 0x001c },
	{ 0x1811, 0x001d, 0x0023 }, { 0x1802, 0x0024, 0x0026 },
	{ 0x180d, 0x0027, 0x002c }, { 0xfee0, 0x002d, 0x0051 },
	{ 0xfee1, 0x0052, 0x0066 },
};

static const struct miband_gatt_attr mb2_attrs[] = {
	SIG(0x0003, 0x0002, 0, 0x1800, 0x2a00, R, MIBAND_CH_DEVICE_NAME),
	SIG(0x0005, 0x0004, 0, 0x1800, 0x2a01, R, -1),
	SIG(0x0007, 0x0006, 0, 0x1800, 0x2a04, R, -1),
	SIG(0x000a, 0x0009, 0x000b, 0x1801, 0x2a05, R | I, -1),
	SIG(0x000e, 0x000d, 0, 0x180a, 0x2a25, R, MIBAND_CH_DIS_SERIAL),
	SIG(0x0010, 0x000f, 0, 0x180a, 0x2a27, R, MIBAND_CH_DIS_HW_REV),
	SIG(0x0012, 0x0011, 0, 0x180a, 0x2a28, R, MIBAND_CH_DIS_SW_REV),
	SIG(0x0014, 0x0013, 0, 0x180a, 0x2a23, R, MIBAND_CH_DIS_SYSTEM_ID),
	SIG(0x0016, 0x0015, 0, 0x180a, 0x2a50, R, MIBAND_CH_DIS_PNP_ID),
	HUA(0x0019, 0x0018, 0x001a, 0x1530, 0x1531, W | N, -1),
	HUA(0x001c, 0x001b, 0, 0x1530, 0x1532, WNR, -1),
	/* 0x0020 is a Characteristic User Description, not a CCCD. */
	SIG(0x001f, 0x001e, 0, 0x1811, 0x2a46, W, MIBAND_CH_NEW_ALERT),
	SIG(0x0022, 0x0021, 0x0023, 0x1811, 0x2a44, R | W | N, -1),
	SIG(0x0026, 0x0025, 0, 0x1802, 0x2a06, WNR, MIBAND_CH_ALERT),
	SIG(0x0029, 0x0028, 0x002a, 0x180d, 0x2a37, N, MIBAND_CH_HR_MEAS),
	SIG(0x002c, 0x002b, 0, 0x180d, 0x2a39, R | W, MIBAND_CH_HR_CTL),
	SIG(0x002f, 0x002e, 0x0030, 0xfee0, 0x2a2b, R | W | N, MIBAND_CH_TIME),
	HUA(0x0032, 0x0031, 0x0033, 0xfee0, 0x0020, R | WNR | N,
	    MIBAND_CH_CHUNKED),
	HUA(0x0035, 0x0034, 0x0036, 0xfee0, 0x0001, WNR | N,
	    MIBAND_CH_SENSOR_CTL),
	HUA(0x0038, 0x0037, 0x0039, 0xfee0, 0x0002, N, MIBAND_CH_SENSOR_DATA),
	HUA(0x003b, 0x003a, 0x003c, 0xfee0, 0x0003, WNR | N, MIBAND_CH_CONFIG),
	SIG(0x003e, 0x003d, 0x003f, 0xfee0, 0x2a04, R | WNR | N, -1),
	HUA(0x0041, 0x0040, 0x0042, 0xfee0, 0x0004, WNR | N,
	    MIBAND_CH_FETCH_CTL),
	HUA(0x0044, 0x0043, 0x0045, 0xfee0, 0x0005, N, MIBAND_CH_FETCH_DATA),
	HUA(0x0047, 0x0046, 0x0048, 0xfee0, 0x0006, R | N, MIBAND_CH_BATTERY),
	HUA(0x004a, 0x0049, 0x004b, 0xfee0, 0x0007, R | N, MIBAND_CH_STEPS),
	HUA(0x004d, 0x004c, 0x004e, 0xfee0, 0x0008, W | N, MIBAND_CH_USER),
	HUA(0x0050, 0x004f, 0x0051, 0xfee0, 0x0010, N, MIBAND_CH_EVENTS),
	HUA(0x0054, 0x0053, 0x0055, 0xfee1, 0x0009, R | WNR | N,
	    MIBAND_CH_AUTH),
	SIG(0x0057, 0x0056, 0, 0xfee1, 0xfedd, W, -1),
	SIG(0x0059, 0x0058, 0, 0xfee1, 0xfede, R, -1),
	SIG(0x005b, 0x005a, 0, 0xfee1, 0xfedf, R, -1),
	SIG(0x005d, 0x005c, 0, 0xfee1, 0xfed0, R | W, -1),
	SIG(0x005f, 0x005e, 0, 0xfee1, 0xfed1, R | W, -1),
	SIG(0x0061, 0x0060, 0, 0xfee1, 0xfed2, R, -1),
	SIG(0x0063, 0x0062, 0, 0xfee1, 0xfed3, R | W, -1),
	HUA(0x0065, 0x0064, 0x0066, 0xfee1, 0xfec1, R | W | N, -1),
};

/* Mi Band 3 and later: handles unknown (see above), the stack chooses. */
static const struct miband_gatt_service mb3_services[] = {
	{ 0x1800, 0, 0 }, { 0x1801, 0, 0 }, { 0x180a, 0, 0 },
	{ 0x1530, 0, 0 }, { 0x1811, 0, 0 }, { 0x1802, 0, 0 },
	{ 0x180d, 0, 0 }, { 0xfee0, 0, 0 }, { 0xfee1, 0, 0 },
};

static const struct miband_gatt_attr mb3_attrs[] = {
	SIG(0, 0, 0, 0x1800, 0x2a00, R, MIBAND_CH_DEVICE_NAME),
	SIG(0, 0, 0, 0x1800, 0x2a01, R, -1),
	SIG(0, 0, 0, 0x1800, 0x2a04, R, -1),
	SIG(0, 0, 0, 0x1801, 0x2a05, R | I, -1),
	SIG(0, 0, 0, 0x180a, 0x2a25, R, MIBAND_CH_DIS_SERIAL),
	SIG(0, 0, 0, 0x180a, 0x2a27, R, MIBAND_CH_DIS_HW_REV),
	SIG(0, 0, 0, 0x180a, 0x2a28, R, MIBAND_CH_DIS_SW_REV),
	SIG(0, 0, 0, 0x180a, 0x2a23, R, MIBAND_CH_DIS_SYSTEM_ID),
	SIG(0, 0, 0, 0x180a, 0x2a50, R, MIBAND_CH_DIS_PNP_ID),
	HUA(0, 0, 0, 0x1530, 0x1531, W | N, -1),
	HUA(0, 0, 0, 0x1530, 0x1532, WNR, -1),
	SIG(0, 0, 0, 0x1811, 0x2a46, W, MIBAND_CH_NEW_ALERT),
	SIG(0, 0, 0, 0x1811, 0x2a44, R | W | N, -1),
	SIG(0, 0, 0, 0x1802, 0x2a06, WNR, MIBAND_CH_ALERT),
	SIG(0, 0, 0, 0x180d, 0x2a37, N, MIBAND_CH_HR_MEAS),
	SIG(0, 0, 0, 0x180d, 0x2a39, R | W, MIBAND_CH_HR_CTL),
	SIG(0, 0, 0, 0xfee0, 0x2a2b, R | W | N, MIBAND_CH_TIME),
	HUA(0, 0, 0, 0xfee0, 0x0001, WNR | N, MIBAND_CH_SENSOR_CTL),
	HUA(0, 0, 0, 0xfee0, 0x0002, N, MIBAND_CH_SENSOR_DATA),
	HUA(0, 0, 0, 0xfee0, 0x0003, WNR | N, MIBAND_CH_CONFIG),
	SIG(0, 0, 0, 0xfee0, 0x2a04, R | WNR | N, -1),
	HUA(0, 0, 0, 0xfee0, 0x0004, WNR | N, MIBAND_CH_FETCH_CTL),
	HUA(0, 0, 0, 0xfee0, 0x0005, N, MIBAND_CH_FETCH_DATA),
	HUA(0, 0, 0, 0xfee0, 0x0006, R | N, MIBAND_CH_BATTERY),
	HUA(0, 0, 0, 0xfee0, 0x0007, R | N, MIBAND_CH_STEPS),
	HUA(0, 0, 0, 0xfee0, 0x0008, W | N, MIBAND_CH_USER),
	HUA(0, 0, 0, 0xfee0, 0x0010, N, MIBAND_CH_EVENTS),
	HUA(0, 0, 0, 0xfee0, 0x0020, R | WNR | N, MIBAND_CH_CHUNKED),
	HUA(0, 0, 0, 0xfee0, 0x000e, W, -1),
	HUA(0, 0, 0, 0xfee0, 0x000f, WNR | N, -1),
	HUA(0, 0, 0, 0xfee1, 0x0009, R | WNR | N, MIBAND_CH_AUTH),
	SIG(0, 0, 0, 0xfee1, 0xfedd, W, -1),
	SIG(0, 0, 0, 0xfee1, 0xfede, R, -1),
	SIG(0, 0, 0, 0xfee1, 0xfedf, R, -1),
	SIG(0, 0, 0, 0xfee1, 0xfed0, R | W, -1),
	SIG(0, 0, 0, 0xfee1, 0xfed1, R | W, -1),
	SIG(0, 0, 0, 0xfee1, 0xfed3, R | W, -1),
	SIG(0, 0, 0, 0xfee1, 0xfed2, R, -1),
	HUA(0, 0, 0, 0xfee1, 0xfec1, R | W | N, -1),
};

/* clang-format on */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct miband_gatt_table tables[MIBAND_MODEL_COUNT] = {
	[MIBAND_MODEL_MB2] = {mb2_services, COUNT(mb2_services), mb2_attrs,
			      COUNT(mb2_attrs), "MI Band 2"},
	[MIBAND_MODEL_MB3] = {mb3_services, COUNT(mb3_services), mb3_attrs,
			      COUNT(mb3_attrs), "Mi Band 3"},
	[MIBAND_MODEL_MB4] = {mb3_services, COUNT(mb3_services), mb3_attrs,
			      COUNT(mb3_attrs), "Mi Smart Band 4"},
	[MIBAND_MODEL_MB5] = {mb3_services, COUNT(mb3_services), mb3_attrs,
			      COUNT(mb3_attrs), "Mi Smart Band 5"},
	[MIBAND_MODEL_MB6] = {mb3_services, COUNT(mb3_services), mb3_attrs,
			      COUNT(mb3_attrs), "Mi Smart Band 6"},
};

const struct miband_gatt_table *miband_gatt_table(enum miband_model model)
{
	if ((unsigned)model >= MIBAND_MODEL_COUNT)
		return NULL;
	return &tables[model];
}
