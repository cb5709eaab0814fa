"""Plausible Chinese names and places for demo data (fictional)."""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ("静", "敏", "伟", "芳", "娜", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "霞",
         "平", "刚", "桂英", "丹", "萍", "鑫", "鹏", "婷", "雪", "琳", "晨", "浩", "宇", "欣怡", "子涵", "梓萱",
         "佳怡", "一诺", "雨桐", "思远", "海燕", "建华", "立新", "晓东", "春梅", "志强", "文博", "可欣")
PLACES = ("青禾", "临溪", "白沙", "云岭", "长丰", "石门", "桃源", "安平", "凤台", "江口", "梅山", "双桥", "清河",
          "宁远", "永和", "东湖", "南屏", "北岭", "西坝", "新田", "金川", "玉泉", "柳塘", "松阳", "竹溪", "兰亭")
CITIES = ("临州", "江城", "云州", "湖阳", "海宁", "山南", "平川", "望江", "宝丰", "瑞安", "嘉禾", "广陵",
          "武宁", "永安", "丰城", "昌平", "崇德", "泰和", "安远", "兴国", "会昌", "寻乌", "定南", "龙南",
          "全南", "信丰", "大余", "上犹", "崇义", "于都", "瑞金")
STREETS = ("人民路", "解放街", "建设路", "中山路", "新华街", "文化路", "工业园", "东风路", "滨江路", "车站路")
POSITIONS = ("customer_manager", "customer_manager", "wealth_manager", "lobby_manager", "teller")


def person(rng, used: set[str]) -> str:
    for _ in range(50):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name not in used:
            used.add(name)
            return name
    name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
    used.add(name)
    return name
